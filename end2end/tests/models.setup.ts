import { expect, test as setup } from "@playwright/test";

import { ADMIN, signIn } from "../support/auth";
import { ADMIN_ONLY_MODEL, FAKE_MODEL, serverFn } from "../support/chat";

const fakePort = Number(process.env.E2E_PORT ?? 3100) + 2;

type Catalogue = {
  providers: { id: string; name: string }[];
  models: { display_name: string }[];
  roles: [string, string][];
};

// After the first administrator exists: a provider on the fake OpenAI server with a model
// everyone may use and one only administrators may.
setup("the administrator adds models on the fake provider", async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.name);
  const read = async () => {
    const { status, body } = await serverFn(page, "admin/models", {});
    expect(status).toBe(200);
    return JSON.parse(body) as Catalogue;
  };
  const saved = await serverFn(page, "admin/models/provider/save", {
    form: {
      id: "",
      kind: "openai",
      name: "E2E fake",
      base_url: `http://127.0.0.1:${fakePort}/v1`,
      api_key: "sk-fake",
      clear_api_key: false,
    },
  });
  expect(saved.status, saved.body).toBe(200);
  const catalogue = await read();
  const provider = catalogue.providers.find((p) => p.name === "E2E fake")!;
  const role = (name: string) => catalogue.roles.find(([, n]) => n === name)![0];
  const model = (name: string, key: string, roles: string[], vision: boolean) => ({
    form: {
      id: "",
      provider_id: provider.id,
      model_key: key,
      display_name: name,
      description: "Replies from the test server.",
      supports_vision: vision,
      supports_tools: false,
      supports_reasoning: false,
      context_tokens: "8000",
      max_output_tokens: "1000",
      input_price: "1",
      output_price: "2",
      cached_input_price: "0",
      is_active: true,
      role_ids: roles,
    },
  });
  for (const [name, key, roles, vision] of [
    [FAKE_MODEL, "fake", [role("administrator"), role("staff"), role("student")], true],
    [ADMIN_ONLY_MODEL, "fake-admin", [role("administrator")], false],
  ] as const) {
    const result = await serverFn(page, "admin/models/save", model(name, key, [...roles], vision));
    expect(result.status, result.body).toBe(200);
  }
  const names = (await read()).models.map((m) => m.display_name);
  expect(names).toEqual(expect.arrayContaining([FAKE_MODEL, ADMIN_ONLY_MODEL]));
});
