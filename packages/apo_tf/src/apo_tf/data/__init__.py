"""Data: camera geometry, the hdf5 layout of converted Human3.6M/HumanEva, the synthetic stand-in, dataset ids."""
