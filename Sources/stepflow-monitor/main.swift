print("stepflow-monitor")
