"""Data in the formats labs already hold: NWB sessions in (`nwb_*`), Brain-Score brainio packages in
and out (`brainio`)."""
