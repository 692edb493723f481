# gitlab-runner's ExecStartPre and ExecReload in env-template mode (the NixOS wiki's second setup):
# renders config.toml from a template whose runner tokens are `@TOKEN_<NAME>@` placeholders, filled
# from the EnvironmentFile that runnerops keeps. Unlike the wiki's awk one-liner it
#  - takes each runner's id, token_obtained_at and token_expires_at from `TOKEN_<NAME>_ID`,
#    `TOKEN_<NAME>_OBTAINED_AT`, `TOKEN_<NAME>_EXPIRES_AT` (written by `/runner register` and
#    `/runner rotate`), else from the config.toml it replaces, so a re-render never resets them;
#  - keeps a token gitlab-runner rotated itself (config.toml holds a different glrt- token obtained
#    no earlier than the env file's: its TOKEN_<NAME>_OBTAINED_AT, else the file's mtime) and copies it back
#    into the env file, so the next render cannot put the dead token back;
#  - reads the env file as data (`NAME=value` lines), never `source`s it;
#  - writes both files through a temp file and rename.
{ lib, pkgs, template, envFile, setup ? "" }:
pkgs.writeShellApplication {
  name = "runnerops-render-gitlab-runner-config";
  runtimeInputs = with pkgs; [ jq remarshal coreutils gawk ];
  text = ''
    config="$HOME/.gitlab-runner/config.toml"
    env_file=${lib.escapeShellArg envFile}
    template=${lib.escapeShellArg "${template}"}
    mkdir -p "$(dirname "$config")"
    ${setup}

    previous='{}'
    if [ -s "$config" ]; then previous=$(remarshal --if toml --of json --stringify "$config"); fi
    values='{}'
    written=0
    if [ -f "$env_file" ]; then
      written=$(stat -c %Y "$env_file")
      values=$(jq -Rn '[inputs | capture("^(?:export +)?(?<k>[A-Za-z_][A-Za-z0-9_]*)=(?<v>.*)$")? | {(.k): .v}] | add // {}' < "$env_file")
    fi

    rendered=$(jq -n --argjson t "$(cat "$template")" --argjson prev "$previous" --argjson env "$values" --argjson written "$written" '
      def var: if type == "string" then (capture("^@(?<v>[A-Za-z_][A-Za-z0-9_]*)@$").v // null) else null end;
      def time: if type == "string" and . != "" then (sub("\\+00:00$"; "Z") | sub("\\.[0-9]+Z$"; "Z") | try fromdateiso8601 catch null) else null end;
      def nonempty: if . == "" then null else . end;
      ($t.runners // []) as $runners
      | [ $runners[] | . as $r | ($r.token | var) as $v
          | if $v == null then { runner: $r } else
              (($prev.runners // []) | map(select(.name == $r.name)) | first) as $p
              | ($env[$v] // "") as $token
              | if $token == "" then { runner: null }
                elif $p != null and ($p.token // "") != $token and (($p.token // "") | startswith("glrt-"))
                   and (($p.token_obtained_at | time) // 0) >= (($env[$v + "_OBTAINED_AT"] | time) // $written)
                then { runner: ($r + { token: $p.token } + ($p | with_entries(select(.key == "id" or .key == "token_obtained_at" or .key == "token_expires_at")))),
                       sync: { var: $v, token: $p.token, id: ($p.id // null), obtained: ($p.token_obtained_at // null), expires: ($p.token_expires_at // null) } }
                else { runner: ($r + { token: $token }
                         + (if ($env[$v + "_ID"] // "") != "" then { id: ($env[$v + "_ID"] | tonumber) } elif $p != null and $p.token == $token and $p.id != null then { id: $p.id } else { } end)
                         + (if ($env[$v + "_OBTAINED_AT"] // "") != "" then { token_obtained_at: $env[$v + "_OBTAINED_AT"] } elif $p != null and $p.token == $token and $p.token_obtained_at != null then { token_obtained_at: $p.token_obtained_at } else { } end)
                         + (if ($env[$v + "_EXPIRES_AT"] // "") != "" then { token_expires_at: $env[$v + "_EXPIRES_AT"] } elif $p != null and $p.token == $token and $p.token_expires_at != null then { token_expires_at: $p.token_expires_at } else { } end)) }
                end
            end ]
      | { config: ($t + { runners: map(.runner | select(. != null)) }), sync: map(.sync // empty) }')

    # Tokens gitlab-runner rotated itself go back into the env file (its other lines stay as they are).
    jq -r '.sync[] | [.var, .token, (.id // "" | tostring), (.obtained // ""), (.expires // "")] | @tsv' <<<"$rendered" |
      while IFS=$'\t' read -r var token id obtained expires; do
        tmp=$(mktemp "$env_file.XXXXXX")
        awk -v var="$var" -v token="$token" -v id="$id" -v obtained="$obtained" -v expires="$expires" '
          BEGIN {
            want[var] = token
            if (id != "") want[var "_ID"] = id
            if (obtained != "") want[var "_OBTAINED_AT"] = obtained
            if (expires != "") want[var "_EXPIRES_AT"] = expires
          }
          { name = $0; sub(/=.*/, "", name); sub(/^export +/, "", name) }
          (name in want) { if (!(name in done)) print name "=" want[name]; done[name] = 1; next }
          { print }
          END { for (n in want) if (!(n in done)) print n "=" want[n] }
        ' "$env_file" > "$tmp"
        chmod 0600 "$tmp"
        mv "$tmp" "$env_file"
        echo "runnerops: $var: kept the token gitlab-runner rotated itself and wrote it back to $env_file"
      done

    tmp=$(mktemp "$config.XXXXXX")
    jq '.config' <<<"$rendered" | remarshal --if json --of toml > "$tmp"
    chmod 0600 "$tmp"
    mv "$tmp" "$config"
    chown -R --reference="$HOME" "$(dirname "$config")"
  '';
}
