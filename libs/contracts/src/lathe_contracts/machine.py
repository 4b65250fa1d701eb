"""What machines publish to Lathe (docs/integration.md): step executions, one message each."""

# Key: the serial number (or the LOT number for LOT-level data). Body: the StepExecution JSON that
# production validates (lathe_production.process_data.schemas.StepExecution, also POST /process-data).
PROCESS_DATA_TOPIC = "lathe.machine.process-data.v1"
