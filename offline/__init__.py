"""The offline Pulumi harness: runs this project's stacks in-process under Pulumi mocks.

It sits below both `policy/` (the mutation suite) and `tools/` (preview, record of processing),
above `components/`, so neither of them has to import the other to see a stack.
"""
