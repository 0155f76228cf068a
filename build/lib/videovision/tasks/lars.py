"""LARS (You et al., "Large Batch Training of Convolutional Networks", 2017), as SimCLR uses it."""

from __future__ import annotations

import torch


class LARS(torch.optim.Optimizer):
    """SGD with momentum whose step for each weight matrix is scaled by ``eta * ||w|| / ||g + wd w||``.

    Biases and normalisation parameters (1-D tensors) are excluded from the scaling and from
    weight decay, as in SimCLR.
    """

    def __init__(self, params, lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 1e-6, eta: float = 1e-3):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if p.ndim > 1:
                    grad = grad.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = torch.norm(p), torch.norm(grad)
                    trust = torch.where(
                        (w_norm > 0) & (g_norm > 0), group["eta"] * w_norm / g_norm, torch.ones_like(w_norm)
                    )
                    grad = grad.mul(trust)
                buf = self.state[p].get("momentum")
                if buf is None:
                    buf = self.state[p]["momentum"] = torch.clone(grad).detach()
                else:
                    buf.mul_(group["momentum"]).add_(grad)
                p.add_(buf, alpha=-group["lr"])
        return loss
