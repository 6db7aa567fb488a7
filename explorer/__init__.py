"""Latent Explorer: train, evaluate and explore the latent space of a variational autoencoder."""

__version__ = "0.1.0"
