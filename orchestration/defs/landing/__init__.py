"""The landing zone ($OPTOUT_RAW_DIR) as external assets, watched by a sensor."""
