"""Setuptools glue for what pyproject.toml cannot say: the top-level resources/ folder (the
source of the icons and the default encoder) ships inside the wheel as reid_desktop/_resources,
so a normal `pip install .` finds them too (reid_desktop/resources.py looks there first)."""

from setuptools import find_packages, setup

RESOURCES = "reid_desktop._resources"
DATA = {  # sub-folder of resources/ → the files that ship
    "models": ["*.onnx", "*.pt", "LICENSE*"],  # the default encoder and reid-train's checkpoint
    "icons": ["*"],
}

setup(
    packages=find_packages(include=["reid_desktop*", "trainer*"]) + [f"{RESOURCES}.{d}" for d in DATA],
    package_dir={RESOURCES: "resources"},
    package_data={f"{RESOURCES}.{d}": patterns for d, patterns in DATA.items()},
)
