// Batch runner for @cloud-copilot/iam-simulate (AGPL-3.0: a test tool, never shipped).
//
// stdin:  a JSON list of simulations, in the shape runSimulation() takes.
// stdout: a JSON list of results, one per simulation, in the same order:
//   {result, grants, denials, ignoredContextKeys} or {error}.
// One process evaluates a whole batch: Node start-up costs more than a hundred requests.
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

const simulations = JSON.parse(await readStdin())
const out = []
for (const simulation of simulations) {
  out.push(await evaluate(simulation))
}
process.stdout.write(JSON.stringify(out))
