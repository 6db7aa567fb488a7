"""The reference recipe: the pytorch/examples VAE (vae/main.py), kept as close to upstream as we can.

MLP 784-400-20, Adam lr 1e-3, batch 128, a DataLoader that converts one image at a time (as
torchvision's ToTensor does), summed BCE + KL per image. Only the data source differs: torchvision
is not installed here, so a small Dataset serves the same uint8 arrays the upstream MNIST class
would. The literals below are the upstream recipe's, on purpose: this file is the yardstick.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset


class UInt8Images(Dataset):
    """Per-item conversion to a (1, 28, 28) float tensor in [0, 1], like ToTensor on a PIL image."""

    def __init__(self, images: np.ndarray):  # (N, 28, 28) uint8
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return torch.from_numpy(self.images[index]).float().div(255).unsqueeze(0), 0


class ReferenceVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def run_reference(train_images: np.ndarray, test_images: np.ndarray, epochs: int, device: torch.device,
                  seed: int = 1) -> dict:
    """Train the recipe; return seconds per epoch and the test loss after each epoch."""
    torch.manual_seed(seed)
    kwargs = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
    train_loader = DataLoader(UInt8Images(train_images), batch_size=128, shuffle=True, **kwargs)
    test_loader = DataLoader(UInt8Images(test_images), batch_size=128, shuffle=False, **kwargs)
    model = ReferenceVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_seconds, test_losses = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for data, _ in train_loader:
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            loss.item()  # upstream accumulates train_loss with .item() every step
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        epoch_seconds.append(time.perf_counter() - start)
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data, _ in test_loader:
                data = data.to(device)
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
        test_losses.append(test_loss / len(test_loader.dataset))
    return {"epoch_seconds": epoch_seconds, "test_neg_elbo": test_losses}
