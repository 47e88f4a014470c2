"""One read model per leadership screen: glance (also the executive home's and the
exports'), stage, region, wave, site story, home (an executive's network summary)."""
