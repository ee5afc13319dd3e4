//! SLA maths: working-time calendars and clock states. Pure: no I/O, no clock reads.
