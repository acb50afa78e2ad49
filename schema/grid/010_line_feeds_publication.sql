-- line_feeds (009) goes to the datahub with the objects and links: its
-- integration report counts a line joined up through the substation that
-- energises it. Not a declared collection or relation, so named here.
ALTER PUBLICATION grid_datahub ADD TABLE line_feeds;
