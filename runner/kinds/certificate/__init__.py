"""Certificate renewal: find what expires (scan), decide (policy), renew through ACME (issue),
install with Ansible (deploy), prove the endpoint serves it (verify), and keep ACM in step (acm)."""
