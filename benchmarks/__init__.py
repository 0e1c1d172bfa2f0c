"""Benchmarks of fusionblocks against a plain re-implementation of the official FF-GAN formulation."""
