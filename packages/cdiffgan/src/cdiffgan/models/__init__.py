"""Mix-StAGE, the velocity discriminator and DiffGAN."""
