"""C-DiffGAN: continual learning for personalised co-speech gesture generation (ICCV 2023)."""
