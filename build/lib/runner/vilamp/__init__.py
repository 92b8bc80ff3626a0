"""ViLAMP building blocks: keyframe selection, feature merging, per-frame feature cache."""
