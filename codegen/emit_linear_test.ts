import { GraphBuilder } from "../lib/ir/builder.ts";
import { differential } from "./_testing.ts";
import { LN_OB } from "./emit_linear.ts";

for (const [fin, fout, bias] of [[1, 1, true], [7, LN_OB + 3, false], [33, 10, true]] as const) {
  Deno.test(`linear: in=${fin},out=${fout},bias=${bias} matches the reference`, async () => {
    const b = new GraphBuilder("fc", [1, fin, 1, 1]);
    const y = b.linear(b.flatten(b.input), { out: fout, bias });
    await differential(b.build(b.relu(y)));
  });
}

Deno.test("linear: a flatten of a strided concat slot reads the right features", async () => {
  const b = new GraphBuilder("fc2", [1, 4, 3, 2]);
  const x = b.channelShuffle(b.concat([b.relu(b.input), b.sigmoid(b.input)]), 2);
  await differential(b.build(b.softmax(b.linear(b.flatten(x), { out: 5 }))));
});
