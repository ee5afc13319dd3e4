-- Map viewports (bbox) select located sites by longitude and latitude ranges.
CREATE INDEX locations_lng_lat_idx ON locations (longitude, latitude) WHERE latitude IS NOT NULL;
