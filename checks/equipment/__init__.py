"""Equipment on the commune LAN: printers, UPS, switches and routers over SNMP."""
