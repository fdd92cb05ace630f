"""The demo's fixed credentials (DESIGN.md section 6), so that docs, tests and benchmarks
agree: the emulated systems accept these and refuse anything else, and ``crosswalk demo``
gives them. Beside these, the configuration the emulators write names ConnectWise company
``dealer`` and e-automate user ``api`` of company ``dealer``.

Product constants, not emulator code: crosswalk reads them without importing the
emulators (``crosswalk --help`` stays light), and the emulators import them from here.
"""

# Each secret by the environment variable the emulators' crosswalk.toml names it with.
CREDENTIALS = {
    "CROSSWALK_CW_PUBLIC_KEY": "demo-public",
    "CROSSWALK_CW_PRIVATE_KEY": "demo-private",
    "CROSSWALK_EA_PASSWORD": "demo",
    "CROSSWALK_OPERATE_KEY": "demo-operate",
    "CROSSWALK_OPERATE_APPROVER_KEY": "demo-operate-approver",
    "CROSSWALK_CONNECT_KEY": "demo-connect",
}
# The ConnectWise integration's clientId header.
CLIENT_ID = "6f1c2a3e-0000-4000-8000-000000000001"
