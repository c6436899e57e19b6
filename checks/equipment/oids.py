"""Numeric OIDs the equipment checks read, each commented with its MIB and object name.

Numeric only: pysnmp ships few MIBs and resolving a name would try a download at run time.
Scalars carry their ``.0`` instance; table columns are prefixes to walk.
"""

from __future__ import annotations

# --- SNMPv2-MIB (RFC 3418) system group
SYS_DESCR = "1.3.6.1.2.1.1.1.0"  # sysDescr
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"  # sysObjectID
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # sysUpTime (TimeTicks, 1/100 s, of the SNMP agent)
SYS_NAME = "1.3.6.1.2.1.1.5.0"  # sysName
SYS_SERVICES = "1.3.6.1.2.1.1.7.0"  # sysServices (bit 2^(L-1) per OSI layer L offered)

# --- IP-MIB (RFC 4293)
IP_FORWARDING = "1.3.6.1.2.1.4.1.0"  # ipForwarding: 1 forwarding (router), 2 notForwarding

# --- BRIDGE-MIB (RFC 4188)
DOT1D_BASE_NUM_PORTS = "1.3.6.1.2.1.17.1.2.0"  # dot1dBaseNumPorts: bridge ports (a switch)

# --- HOST-RESOURCES-MIB (RFC 2790)
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"  # hrSystemUptime (TimeTicks, of the host)
HR_DEVICE_STATUS = "1.3.6.1.2.1.25.3.2.1.5"  # hrDeviceStatus.<hrDeviceIndex>
HR_PRINTER_STATUS = "1.3.6.1.2.1.25.3.5.1.1"  # hrPrinterStatus.<hrDeviceIndex>
HR_PRINTER_DETECTED_ERROR_STATE = "1.3.6.1.2.1.25.3.5.1.2"  # hrPrinterDetectedErrorState

# --- Printer-MIB (RFC 3805) prtMarkerSuppliesTable, index <hrDeviceIndex>.<supplyIndex>
PRT_MARKER_SUPPLIES_CLASS = "1.3.6.1.2.1.43.11.1.1.4"  # prtMarkerSuppliesClass
PRT_MARKER_SUPPLIES_TYPE = "1.3.6.1.2.1.43.11.1.1.5"  # prtMarkerSuppliesType
PRT_MARKER_SUPPLIES_DESCRIPTION = "1.3.6.1.2.1.43.11.1.1.6"  # prtMarkerSuppliesDescription
PRT_MARKER_SUPPLIES_MAX_CAPACITY = "1.3.6.1.2.1.43.11.1.1.8"  # prtMarkerSuppliesMaxCapacity
PRT_MARKER_SUPPLIES_LEVEL = "1.3.6.1.2.1.43.11.1.1.9"  # prtMarkerSuppliesLevel

# --- UPS-MIB (RFC 1628)
UPS_IDENT_MODEL = "1.3.6.1.2.1.33.1.1.2.0"  # upsIdentModel
UPS_BATTERY_STATUS = "1.3.6.1.2.1.33.1.2.1.0"  # upsBatteryStatus
UPS_SECONDS_ON_BATTERY = "1.3.6.1.2.1.33.1.2.2.0"  # upsSecondsOnBattery
UPS_ESTIMATED_MINUTES_REMAINING = "1.3.6.1.2.1.33.1.2.3.0"  # upsEstimatedMinutesRemaining
UPS_ESTIMATED_CHARGE_REMAINING = "1.3.6.1.2.1.33.1.2.4.0"  # upsEstimatedChargeRemaining (%)
UPS_OUTPUT_SOURCE = "1.3.6.1.2.1.33.1.4.1.0"  # upsOutputSource

# --- PowerNet-MIB (APC, enterprise 318): upsBasic* / upsAdv* of a Smart-UPS card
APC_UPS_MODEL = "1.3.6.1.4.1.318.1.1.1.1.1.1.0"  # upsBasicIdentModel
APC_BATTERY_STATUS = "1.3.6.1.4.1.318.1.1.1.2.1.1.0"  # upsBasicBatteryStatus
APC_TIME_ON_BATTERY = "1.3.6.1.4.1.318.1.1.1.2.1.2.0"  # upsBasicBatteryTimeOnBattery (ticks)
APC_BATTERY_CAPACITY = "1.3.6.1.4.1.318.1.1.1.2.2.1.0"  # upsAdvBatteryCapacity (%)
APC_RUNTIME_REMAINING = "1.3.6.1.4.1.318.1.1.1.2.2.3.0"  # upsAdvBatteryRunTimeRemaining (ticks)
APC_OUTPUT_STATUS = "1.3.6.1.4.1.318.1.1.1.4.1.1.0"  # upsBasicOutputStatus

# --- XUPS-MIB (Eaton / Powerware, enterprise 534)
XUPS_MODEL = "1.3.6.1.4.1.534.1.1.2.0"  # xupsIdentModel
XUPS_BAT_TIME_REMAINING = "1.3.6.1.4.1.534.1.2.1.0"  # xupsBatTimeRemaining (seconds)
XUPS_BAT_CAPACITY = "1.3.6.1.4.1.534.1.2.4.0"  # xupsBatCapacity (%)
XUPS_BATTERY_ABM_STATUS = "1.3.6.1.4.1.534.1.2.5.0"  # xupsBatteryAbmStatus
XUPS_OUTPUT_SOURCE = "1.3.6.1.4.1.534.1.4.5.0"  # xupsOutputSource

# --- LIEBERT-GP-POWER-MIB (Liebert / Emerson / Vertiv, enterprise 476)
LGP_AGENT_MODEL = "1.3.6.1.4.1.476.1.42.2.1.2.0"  # lgpAgentIdentModel
LGP_BATTERY_TIME_REMAINING = "1.3.6.1.4.1.476.1.42.3.5.1.18.0"  # lgpPwrBatteryTimeRemaining (min)
LGP_BATTERY_CAPACITY = "1.3.6.1.4.1.476.1.42.3.5.1.19.0"  # lgpPwrBatteryCapacity (%)
LGP_BATTERY_CAPACITY_STATUS = "1.3.6.1.4.1.476.1.42.3.5.1.26.0"  # lgpPwrBatteryCapacityStatus
LGP_UPS_OUTPUT_SOURCE = "1.3.6.1.4.1.476.1.42.3.5.3.55.0"  # lgpPwrStateUpsOutputSource

# --- FIBRE-CHANNEL-MGMT-MIB / FC-MGMT-MIB (RFC 4044): a Fibre Channel switch answers it
FC_MGMT = "1.3.6.1.2.1.75"

# --- Printer-MIB (RFC 3805) general table: a printer answers it even without supplies
PRT_GENERAL = "1.3.6.1.2.1.43.5.1.1"  # prtGeneralEntry

# --- IF-MIB (RFC 2863) ifTable / ifXTable, index ifIndex
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"  # ifDescr
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"  # ifType (IANAifType; 24 softwareLoopback)
IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7"  # ifAdminStatus: 1 up, 2 down, 3 testing
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"  # ifOperStatus: 1 up, 2 down, ... 7 lowerLayerDown
IF_IN_ERRORS = "1.3.6.1.2.1.2.2.1.14"  # ifInErrors (Counter32)
IF_OUT_ERRORS = "1.3.6.1.2.1.2.2.1.20"  # ifOutErrors (Counter32)
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"  # ifName
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"  # ifHCInOctets (Counter64)
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10"  # ifHCOutOctets (Counter64)
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"  # ifAlias (the operator's label, e.g. "uplink")

#: Scalars read in one GET to identify a device (see ``profiles.detect_kind``): the system
#: group, the forwarding and bridge flags, and one or two objects of each UPS MIB read.
IDENTITY = (
    SYS_DESCR,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    SYS_SERVICES,
    IP_FORWARDING,
    DOT1D_BASE_NUM_PORTS,
    HR_SYSTEM_UPTIME,
    UPS_BATTERY_STATUS,
    UPS_OUTPUT_SOURCE,
    APC_BATTERY_STATUS,
    APC_OUTPUT_STATUS,
    XUPS_BAT_CAPACITY,
    XUPS_OUTPUT_SOURCE,
    LGP_BATTERY_CAPACITY_STATUS,
    LGP_UPS_OUTPUT_SOURCE,
)
#: Tables walked for one row each to tell whether a MIB answers (see ``profiles.Mib``).
IDENTITY_TABLES = (PRT_MARKER_SUPPLIES_LEVEL, PRT_GENERAL, FC_MGMT)

#: Columns walked for a printer, a switch/router.
PRINTER_COLUMNS = (
    PRT_MARKER_SUPPLIES_CLASS,
    PRT_MARKER_SUPPLIES_TYPE,
    PRT_MARKER_SUPPLIES_DESCRIPTION,
    PRT_MARKER_SUPPLIES_MAX_CAPACITY,
    PRT_MARKER_SUPPLIES_LEVEL,
    HR_PRINTER_STATUS,
    HR_PRINTER_DETECTED_ERROR_STATE,
)
UPS_SCALARS = (
    UPS_IDENT_MODEL,
    UPS_BATTERY_STATUS,
    UPS_SECONDS_ON_BATTERY,
    UPS_ESTIMATED_MINUTES_REMAINING,
    UPS_ESTIMATED_CHARGE_REMAINING,
    UPS_OUTPUT_SOURCE,
)
APC_UPS_SCALARS = (
    APC_UPS_MODEL,
    APC_BATTERY_STATUS,
    APC_TIME_ON_BATTERY,
    APC_BATTERY_CAPACITY,
    APC_RUNTIME_REMAINING,
    APC_OUTPUT_STATUS,
)
XUPS_SCALARS = (
    XUPS_MODEL,
    XUPS_BAT_TIME_REMAINING,
    XUPS_BAT_CAPACITY,
    XUPS_BATTERY_ABM_STATUS,
    XUPS_OUTPUT_SOURCE,
)
LIEBERT_UPS_SCALARS = (
    LGP_AGENT_MODEL,
    LGP_BATTERY_TIME_REMAINING,
    LGP_BATTERY_CAPACITY,
    LGP_BATTERY_CAPACITY_STATUS,
    LGP_UPS_OUTPUT_SOURCE,
)
SWITCH_COLUMNS = (
    IF_DESCR,
    IF_TYPE,
    IF_ADMIN_STATUS,
    IF_OPER_STATUS,
    IF_IN_ERRORS,
    IF_OUT_ERRORS,
    IF_NAME,
    IF_HC_IN_OCTETS,
    IF_HC_OUT_OCTETS,
    IF_ALIAS,
)
