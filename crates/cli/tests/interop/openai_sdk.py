"""The real `openai` SDK against a Concordat gateway: each call's outcome, one JSON line each.

usage: openai_sdk.py BASE_URL ANALYST_KEY
"""

import json
import sys

import openai

base_url, analyst_key = sys.argv[1], sys.argv[2]

ANALYSIS = {
    "Concordat-Purpose": "imagery-analysis",
    "Concordat-Data-Classification": "secret",
    "Concordat-Human-Review": "true",
    "Concordat-Target-Domain": "foreign",
}
SURVEILLANCE = dict(ANALYSIS, **{"Concordat-Purpose": "surveillance", "Concordat-Target-Domain": "domestic"})
MESSAGES = [{"role": "user", "content": "Describe the vehicles in the image."}]


def report(case, **outcome):
    print(json.dumps({"case": case, **outcome}), flush=True)


client = openai.OpenAI(base_url=base_url, api_key=analyst_key)

chat = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=ANALYSIS)
report("chat", model=chat.model, content=chat.choices[0].message.content,
       prompt_tokens=chat.usage.prompt_tokens)

stream = client.chat.completions.create(
    model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True},
    extra_headers=ANALYSIS)
text, usage = "", None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    if chunk.usage is not None:
        usage = chunk.usage.completion_tokens
report("stream", content=text, completion_tokens=usage)

response = client.responses.create(model="gpt-4o", input="hello", extra_headers=ANALYSIS)
report("responses", model=response.model, text=response.output_text,
       input_tokens=response.usage.input_tokens)

embedding = client.embeddings.create(model="text-embedding-3-small", input="hello", extra_headers=ANALYSIS)
report("embeddings", dimensions=len(embedding.data[0].embedding))

report("models", ids=[model.id for model in client.models.list()])

try:
    openai.OpenAI(base_url=base_url, api_key="cgw-not-issued").chat.completions.create(
        model="gpt-4o", messages=MESSAGES, extra_headers=ANALYSIS)
    report("bad-key", raised=None)
except openai.AuthenticationError as error:
    report("bad-key", raised="AuthenticationError", status=error.status_code, code=error.code)

try:
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=SURVEILLANCE)
    report("surveillance", raised=None)
except openai.PermissionDeniedError as error:
    report("surveillance", raised="PermissionDeniedError", status=error.status_code, code=error.code,
           clauses=error.response.headers.get("concordat-clauses"))

try:
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    report("no-purpose", raised=None)
except openai.BadRequestError as error:
    report("no-purpose", raised="BadRequestError", status=error.status_code, param=error.param)

# The contract's capacity: 60 requests a minute per user. Retries are the SDK's to make; here
# none, to see the first refusal.
impatient = openai.OpenAI(base_url=base_url, api_key=analyst_key, max_retries=0)
served = 0
try:
    for _ in range(130):
        impatient.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=ANALYSIS)
        served += 1
    report("quota", raised=None, served=served)
except openai.RateLimitError as error:
    report("quota", raised="RateLimitError", served=served, status=error.status_code,
           retry_after=error.response.headers.get("retry-after"))
