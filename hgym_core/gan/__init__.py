"""The Health Gym v1 WGAN-GP: configuration, generator and critic, the training step and loop, and the paper's reference form."""
