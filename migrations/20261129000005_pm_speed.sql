-- The PM generator's reads (`shared/src/pm`): the assets in a plan's scope and the zones its
-- sites are in.

-- A plan's scope by site or region reads the active assets of each location, and by category
-- the active assets of that category; with the id included neither reads an asset row.
CREATE INDEX assets_active_location_category_idx ON assets (location_id, category) INCLUDE (id)
    WHERE status = 'active';
CREATE INDEX assets_active_category_location_idx ON assets (category, location_id) INCLUDE (id)
    WHERE status = 'active';

-- The distinct zones of the sites (a loose index scan: one lookup per zone): a date no zone has
-- reached within its lead time is not read at all.
CREATE INDEX locations_timezone_idx ON locations (timezone);
