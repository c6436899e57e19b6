"""Digital signature readiness (SIG-01): the USB token is plugged in, the certificate valid.

Officials sign with specialised public-service certificates (Decree 68/2024) held on USB
tokens; reports on communes stress those "lacking digital signatures or certificates".
"""
