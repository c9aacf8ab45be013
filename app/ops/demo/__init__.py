"""The demo data of `bourse seed-demo`."""
