// Batch runner for @cloud-copilot/iam-simulate (AGPL-3.0: a test tool, never shipped).
//
// stdin:  a JSON list of simulations, in the shape runSimulation() takes.
// stdout: a JSON list of results, one per simulation, in the same order:
//   {result, grants, denials, ignoredContextKeys} or {error}.
// One process evaluates a whole batch: Node start-up costs more than a hundred requests.
//
// A simulation marked `unsafeOidcClaims` (sts:AssumeRoleWithWebIdentity with a token's claims as
// <issuer>:aud/sub/amr keys) is validated by runSimulation, which drops those keys (the service
// reference does not list them) and reports what it dropped, then decided by runUnsafeSimulation,
// which keeps every key but reports no reasons. harness/simulate/engine.py accepts only claim keys as dropped.
import { createRequire } from 'node:module'
import { getDenialReasons, getGrantReasons, runSimulation } from '@cloud-copilot/iam-simulate'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

async function evaluate(simulation) {
  const response = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (response.resultType === 'error') {
    return { error: response.errors }
  }
  // A wildcard resource can fan out into several evaluations; report all their reasons.
  const results = response.resultType === 'single' ? [response.result] : response.results
  return {
    result: response.overallResult,
    grants: results.flatMap((r) => getGrantReasons(r.analysis)),
    denials: results.flatMap((r) => getDenialReasons(r.analysis)),
    ignoredContextKeys: [...new Set(results.flatMap((r) => r.ignoredContextKeys ?? []))]
  }
}

let unsafeRunner
// iam-simulate 0.1.173's runUnsafeSimulation loads the resource policy without options, and then
// fails reading that policy's name; its CommonJS build looks loadPolicy up on @cloud-copilot/iam-policy's
// exports at each call, so a wrapper there names it. Loaded only for batches that need it.
function unsafe() {
  if (unsafeRunner === undefined) {
    const require = createRequire(import.meta.url)
    const policies = require('@cloud-copilot/iam-policy')
    const loadPolicy = policies.loadPolicy
    Object.defineProperty(policies, 'loadPolicy', {
      value: (policy, options) => loadPolicy(policy, options ?? { name: 'resource' })
    })
    unsafeRunner = require('@cloud-copilot/iam-simulate').runUnsafeSimulation
  }
  return unsafeRunner
}

async function evaluateWithClaims(simulation) {
  const checked = await evaluate(simulation)
  if (checked.error) return checked
  const result = unsafe()(simulation, { simulationMode: 'Strict' })
  return { result, grants: [], denials: [], ignoredContextKeys: checked.ignoredContextKeys }
}

const simulations = JSON.parse(await readStdin())
const out = []
for (const { unsafeOidcClaims, ...simulation } of simulations) {
  out.push(await (unsafeOidcClaims ? evaluateWithClaims(simulation) : evaluate(simulation)))
}
process.stdout.write(JSON.stringify(out))
