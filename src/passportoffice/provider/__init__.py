"""The provider's operations: protocol decisions applied to stored state, with no HTTP in sight."""
