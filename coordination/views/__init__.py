"""What people read about coordinations: live records from Redis and the archive, merged into one view."""
