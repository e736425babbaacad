// Placeholder until the reference app lands: shows the contract's type system at work on the
// variables the app will tune. It does not run a backend yet.
import { checkRegistration, checkValue, encodeValueJson } from "@dspex/state-provider";

const temperature = checkRegistration({
  name: "temperature",
  type: "float",
  value: 0.7,
  constraints: { min: 0, max: 2 },
});
if (!temperature.ok) throw new Error(temperature.error.message);
console.log(
  "registered",
  temperature.value.name,
  "=",
  encodeValueJson("float", temperature.value.value),
);

const rejected = checkValue("temperature", "float", 3.5, temperature.value.constraints);
console.log(
  "setting 3.5 ->",
  rejected.ok ? "accepted" : `${rejected.error.code}: ${rejected.error.message}`,
);
