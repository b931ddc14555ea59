"""Wire stand-ins: local HTTP servers that speak a platform's real wire format."""
