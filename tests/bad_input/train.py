import json
print(json.dumps({"epoch": 1, "val_loss": 0.5}))
