"""The layers of irgrad.nn, one file per family (as in PyTorch's torch.nn.modules)."""
from .module import Module
from .parameter import Parameter
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Identity, Linear, Bilinear
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d,
                      AdaptiveAvgPool2d, AdaptiveMaxPool2d)
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d,
                            InstanceNorm2d, LayerNorm, GroupNorm, RMSNorm)
from .activation import (ReLU, ReLU6, LeakyReLU, ELU, CELU, SELU, GELU, SiLU, Mish, Sigmoid,
                         Tanh, Softplus, Softsign, Hardtanh, Hardsigmoid, Hardswish,
                         LogSigmoid, Tanhshrink, Hardshrink, Softshrink, Threshold, PReLU,
                         GLU, Softmax, LogSoftmax, Softmin)
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout
from .sparse import Embedding
from .flatten import Flatten, Unflatten
from .loss import (CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss,
                   SmoothL1Loss, HuberLoss, KLDivLoss, PoissonNLLLoss)
from .transformer import MultiheadAttention, TransformerEncoderLayer, TransformerEncoder

__all__ = [name for name in dir() if name[:1].isupper()]
