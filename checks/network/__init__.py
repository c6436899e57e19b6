"""Network checks: gateway, DNS, TCP and HTTP(S) reachability."""
