"""Running Broadsheet without AWS: the stack as ``template.yaml`` describes it."""
