"""The C reader for spec YAML (core.spec._yamlc) links libyaml; it is optional: without a compiler,
Python headers or libyaml-dev the package installs without it and reads YAML through PyYAML."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("core.spec._yamlc", ["core/spec/_yamlc.c"], libraries=["yaml"], optional=True,
                  extra_compile_args=["-Wall", "-Wextra"]),
    ],
)
