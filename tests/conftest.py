from harness.node import use_pinned_node

# Before anything imports aws_cdk: jsii on Node 20 prints an end-of-life banner.
use_pinned_node()
