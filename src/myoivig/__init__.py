"""myoivig: IVIg for inflammatory myopathies — clinic, research and evidence synthesis."""

__version__ = "0.1.0"
