"""Dev-only tooling, never shipped: synthesis for tests, the IAM simulator bridge, the emulator harness."""
