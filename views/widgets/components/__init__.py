"""Building blocks shared by the region widgets: the region editing panel and our own offline components."""
