"""Network definitions: backbones and the ReID head (global + stripe embeddings)."""
