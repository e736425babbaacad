"""Generated protobuf modules (scripts/generate.sh); do not edit."""
