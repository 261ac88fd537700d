"""`make demo`: train a small CNN on scikit-learn's bundled handwritten digits with irgrad.

Real data, no download: 1,797 8x8 images of the digits 0-9 that ship inside scikit-learn.
Each training step (zero_grad, forward, loss, backward, Adam update) is ONE compiled graph,
cached after the first step; the progress bar shows loss and accuracy. Afterwards the model
and optimizer are saved with irgrad.save (no pickle), loaded back into fresh objects, and
the reloaded model is checked to give the same test accuracy.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import irgrad as torch
import irgrad.nn as nn
import irgrad.nn.functional as F
from irgrad.frontend import realize as realize_stats
from irgrad.utils.data import DataLoader, TensorDataset


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.25)
        self.fc1 = nn.Linear(64 * 2 * 2, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))   # 32 x 4 x 4
        x = self.pool(F.relu(self.conv2(x)))             # 64 x 2 x 2
        x = self.drop(torch.flatten(x, 1))
        return self.fc2(F.relu(self.fc1(x)))


def load_data():
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]   # N x 1 x 8 x 8 in [0, 1]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    model.train()
    return (pred == y).float().mean().item()


def main(epochs: int = 20) -> int:
    torch.manual_seed(0)
    x_train, x_test, y_train, y_test = load_data()
    train = TensorDataset(torch.tensor(x_train), torch.tensor(y_train))
    loader = DataLoader(train, batch_size=64, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(0))
    xt, yt = torch.tensor(x_test), torch.tensor(y_test)

    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(loader))
    print(f"irgrad demo: {len(train)} training / {len(xt)} test digits, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    t0 = time.perf_counter()
    for epoch in range(epochs):
        bar = tqdm(loader, desc=f"epoch {epoch + 1:2d}/{epochs}", leave=False, file=sys.stdout)
        for xb, yb in bar:
            opt.zero_grad()
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{loss.item():.4f}")
        bar.close()
        acc = accuracy(model, xt, yt)
        print(f"epoch {epoch + 1:2d}: loss {loss.item():.4f}  test accuracy {acc:.4f}")
    elapsed = time.perf_counter() - t0
    print(f"trained in {elapsed:.1f}s with {realize_stats.counters['compiles']} compiled graphs "
          f"({realize_stats.counters['realizations']} graph runs)")

    final = accuracy(model, xt, yt)
    path = os.path.join(tempfile.mkdtemp(prefix="irgrad-demo-"), "digits.irgrad")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epochs": epochs},
               path)
    checkpoint = torch.load(path)
    restored = DigitsCNN()
    restored.load_state_dict(checkpoint["model"])
    restored_opt = torch.optim.Adam(restored.parameters(), lr=3e-3)
    restored_opt.load_state_dict(checkpoint["optimizer"])
    again = accuracy(restored, xt, yt)
    print(f"checkpoint: {path} ({os.path.getsize(path)} bytes); reloaded test accuracy "
          f"{again:.4f}")
    ok = final >= 0.97 and abs(again - final) < 1e-6
    print("demo " + ("passed" if ok else "FAILED") + f": test accuracy {final:.4f} (target 0.97)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
