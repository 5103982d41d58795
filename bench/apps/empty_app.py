"""The baseline: an empty CDK Python app (one empty stack), synthesized under the project's CLI, Node and flags."""

import aws_cdk as cdk

app = cdk.App()
cdk.Stack(app, "Empty", env=cdk.Environment(account="222222222222", region="us-east-1"))
app.synth()
