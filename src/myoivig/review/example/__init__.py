"""The example review (Wang et al., Clin Rheumatol 2012;31:801-806) as a worked example."""
