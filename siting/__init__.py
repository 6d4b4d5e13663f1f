"""siting: childcare (托育) gap audit and nursery siting on the road network."""

__version__ = "0.1.0"
