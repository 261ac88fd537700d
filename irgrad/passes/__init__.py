"""Graph -> Graph optimization passes and the pipeline that runs them."""
