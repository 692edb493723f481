# A small stand-in for nixpkgs' lib, so deploy/nixos/module.nix can be evaluated offline with Debian's
# nix-instantiate (no nixpkgs here). It behaves like nixpkgs' lib/modules.nix and lib/types.nix where
# the module relies on it:
# - options declared with mkOption, checked against their type, with defaults and `apply`;
# - definitions from many modules merged by priority (mkDefault < plain < mkForce), equal values only
#   for single-valued types, lists concatenated, attribute sets merged per attribute;
# - mkIf / mkMerge / mkOverride pushed down through attribute sets, so `config` can refer to itself
#   and a condition is only evaluated where its value is needed;
# - submodules, `_freeformType` namespaces, and an error for any definition of an undeclared option.
let
  inherit (builtins)
    attrNames concatLists concatStringsSep elem filter foldl' head isAttrs isBool isFunction isInt
    isList isPath isString length listToAttrs mapAttrs typeOf;

  lib = rec {
    inherit attrNames concatStringsSep elem filter head length listToAttrs mapAttrs;
    inherit (builtins) all any toJSON;

    # ---- helpers, same names and behaviour as nixpkgs' ----
    optional = cond: x: if cond then [ x ] else [ ];
    optionals = cond: xs: if cond then xs else [ ];
    optionalAttrs = cond: as: if cond then as else { };
    optionalString = cond: s: if cond then s else "";
    concatMap = f: xs: concatLists (map f xs);
    concatMapStringsSep = sep: f: xs: concatStringsSep sep (map f xs);
    mapAttrsToList = f: as: map (n: f n as.${n}) (attrNames as);
    filterAttrs = pred: as: listToAttrs (concatMap (n: if pred n as.${n} then [ (nameValuePair n as.${n}) ] else [ ]) (attrNames as));
    nameValuePair = name: value: { inherit name value; };
    hasPrefix = pref: s: builtins.substring 0 (builtins.stringLength pref) s == pref;
    removePrefix = pref: s:
      if hasPrefix pref s then builtins.substring (builtins.stringLength pref) (builtins.stringLength s) s else s;
    unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
    last = xs: builtins.elemAt xs (length xs - 1);
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    showOption = concatStringsSep ".";

    # ---- properties ----
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkOverride = priority: content: { _type = "override"; inherit priority content; };
    mkOptionDefault = mkOverride 1500;
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;

    mkOption = attrs: attrs // { _type = "option"; };
    mkEnableOption = name: mkOption {
      type = types.bool;
      default = false;
      example = true;
      description = "Whether to enable ${name}.";
    };

    isOption = x: isAttrs x && (x._type or null) == "option";

    # A definition as a list of { value; priority } with its mkIf / mkMerge / mkOverride resolved.
    discharge = loc: v:
      let t = if isAttrs v then v._type or null else null; in
      if t == "if" then
        (if !(isBool v.condition) then throw "mkIf for `${showOption loc}' got a ${typeOf v.condition} condition, not a Boolean"
        else if v.condition then discharge loc v.content else [ ])
      else if t == "merge" then concatMap (discharge loc) v.contents
      else if t == "override" then map (d: d // { inherit (v) priority; }) (discharge loc v.content)
      else [ { value = v; priority = 100; } ];

    # The values of the highest-priority (lowest number) definitions.
    resolveDefs = loc: defs:
      let
        items = concatMap (discharge loc) defs;
        best = foldl' (acc: i: if i.priority < acc then i.priority else acc) 99999 items;
      in
      map (i: i.value) (filter (i: i.priority == best) items);

    # A definition of a namespace as attribute sets whose values carry the properties pushed down.
    pushDown = loc: v:
      let t = if isAttrs v then v._type or null else null; in
      if t == "if" then map (mapAttrs (_: lib.mkIf v.condition)) (pushDown loc v.content)
      else if t == "merge" then concatMap (pushDown loc) v.contents
      else if t == "override" then map (mapAttrs (_: lib.mkOverride v.priority)) (pushDown loc v.content)
      else if isAttrs v then [ v ]
      else throw "`${showOption loc}' is a set of options, but a definition gives it a ${typeOf v}";

    showValue = v:
      if isString v then ''"${v}"''
      else if isInt v || isBool v || v == null then toJSON v
      else "<${typeOf v}>";

    checked = type: loc: v:
      if type.check v then v
      else throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition value: ${showValue v}";

    mergeEqual = loc: values:
      let first = head values; in
      if builtins.all (v: v == first) values then first
      else throw "The option `${showOption loc}' has conflicting definition values: ${concatMapStringsSep ", " showValue values}";

    # ---- types ----
    mkOptionType = { name, description ? name, check, merge ? null }:
      let
        self = {
          _type = "option-type";
          inherit name description check;
          merge = if merge != null then merge else loc: values: mergeEqual loc (map (checked self loc) values);
        };
      in
      self;

    types = rec {
      bool = mkOptionType { name = "bool"; description = "boolean"; check = isBool; };
      str = mkOptionType { name = "str"; description = "string"; check = isString; };
      int = mkOptionType { name = "int"; description = "signed integer"; check = isInt; };
      ints = {
        between = lo: hi: mkOptionType {
          name = "intBetween";
          description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
          check = v: isInt v && v >= lo && v <= hi;
        };
        positive = mkOptionType { name = "positiveInt"; description = "positive integer"; check = v: isInt v && v > 0; };
      };
      port = ints.between 0 65535 // { name = "port"; };
      strMatching = pattern: mkOptionType {
        name = "strMatching ${toJSON pattern}";
        description = "string matching the pattern ${pattern}";
        check = v: isString v && builtins.match pattern v != null;
      };
      path = mkOptionType {
        name = "path";
        check = v: isPath v || (isString v && hasPrefix "/" v) || (isAttrs v && v ? outPath);
      };
      package = mkOptionType { name = "package"; check = v: isAttrs v && (v.type or null) == "derivation"; };
      enum = values: mkOptionType {
        name = "enum";
        description = "one of ${concatMapStringsSep ", " showValue values}";
        check = v: elem v values;
      };
      lines = mkOptionType {
        name = "lines";
        check = isString;
        merge = loc: values: concatStringsSep "\n" (map (checked lines loc) values);
      };
      nullOr = t: mkOptionType {
        name = "nullOr";
        description = "null or ${t.description}";
        check = v: v == null || t.check v;
        merge = loc: values:
          if builtins.all (v: v == null) values then null
          else if builtins.any (v: v == null) values then throw "The option `${showOption loc}' is defined both null and not null"
          else t.merge loc values;
      };
      either = a: b: mkOptionType {
        name = "either";
        description = "${a.description} or ${b.description}";
        check = v: a.check v || b.check v;
        merge = loc: values:
          if builtins.all a.check values then a.merge loc values
          else if builtins.all b.check values then b.merge loc values
          else throw "The option `${showOption loc}' has definitions of different types";
      };
      oneOf = ts: foldl' either (head ts) (builtins.tail ts);
      listOf = t: mkOptionType {
        name = "listOf";
        description = "list of ${t.description}";
        check = isList;
        merge = loc: values:
          concatMap (l: concatMap (x: map (v: t.merge (loc ++ [ "*" ]) [ v ]) (resolveDefs loc [ x ])) (checked (listOf t) loc l)) values;
      };
      attrsOf = t: mkOptionType {
        name = "attrsOf";
        description = "attribute set of ${t.description}";
        check = isAttrs;
        merge = loc: values:
          let
            sets = concatMap (v: pushDown loc (checked (attrsOf t) loc v)) values;
            names = unique (concatMap attrNames sets);
            valuesOf = n: resolveDefs (loc ++ [ n ]) (concatMap (s: optional (s ? ${n}) s.${n}) sets);
          in
          listToAttrs (concatMap
            (n: let vs = valuesOf n; in if vs == [ ] then [ ] else [ (nameValuePair n (t.merge (loc ++ [ n ]) vs)) ])
            names);
      };
      lazyAttrsOf = attrsOf;
      attrs = mkOptionType { name = "attrs"; description = "attribute set"; check = isAttrs; merge = _: foldl' (a: b: a // b) { }; };
      submodule = module: mkOptionType {
        name = "submodule";
        check = v: isAttrs v || isFunction v;
        merge = loc: values: (evalModules {
          modules = [ module ] ++ map (v: if isFunction v then v else { config = v; }) values;
          specialArgs = { name = last loc; };
          prefix = loc;
        }).config;
      };
      # Attribute sets merged recursively, lists concatenated, anything else must agree.
      anything = mkOptionType {
        name = "anything";
        check = _: true;
        merge = loc: values:
          if builtins.all (v: isAttrs v && !(v ? outPath)) values then
            let
              sets = concatMap (pushDown loc) values;
              names = unique (concatMap attrNames sets);
            in
            listToAttrs (concatMap
              (n:
                let vs = resolveDefs (loc ++ [ n ]) (concatMap (s: optional (s ? ${n}) s.${n}) sets); in
                if vs == [ ] then [ ] else [ (nameValuePair n (anything.merge (loc ++ [ n ]) vs)) ])
              names)
          else if builtins.all isList values then concatLists values
          else mergeEqual loc values;
      };
    };

    # ---- evaluation ----
    evalOption = loc: opt: defs:
      let
        values = resolveDefs loc (defs ++ optional (opt ? default) (mkOptionDefault opt.default));
        type = opt.type or types.anything;
        merged =
          if (opt.readOnly or false) && length defs > 1 then throw "The option `${showOption loc}' is read-only, but it is set more than once."
          else if values == [ ] then throw "The option `${showOption loc}' is used but not defined."
          else type.merge loc values;
      in
      if opt ? apply then opt.apply merged else merged;

    evalNamespace = loc: decls: defs:
      let
        sets = concatMap (pushDown loc) defs;
        freeform = decls._freeformType or null;
        declared = removeAttrs decls [ "_freeformType" ];
        defsOf = n: concatMap (s: optional (s ? ${n}) s.${n}) sets;
        undeclared = filter (n: !(declared ? ${n})) (unique (concatMap attrNames sets));
        undeclaredCheck =
          if freeform == null && undeclared != [ ]
          then throw "The option `${showOption (loc ++ [ (head undeclared) ])}' does not exist."
          else true;
        declaredValues = mapAttrs
          (n: d: builtins.seq undeclaredCheck
            (if isOption d then evalOption (loc ++ [ n ]) d (defsOf n) else evalNamespace (loc ++ [ n ]) d (defsOf n)))
          declared;
        # Present whatever their conditions say, so naming them never evaluates `config`.
        freeformValues = listToAttrs (map
          (n: nameValuePair n (let vs = resolveDefs (loc ++ [ n ]) (defsOf n); in if vs == [ ] then { } else freeform.merge (loc ++ [ n ]) vs))
          undeclared);
      in
      if freeform == null then declaredValues else freeformValues // declaredValues;

    mergeDecls = a: b:
      a // mapAttrs
        (n: bv:
          if !(a ? ${n}) || n == "_freeformType" then bv
          else if isOption bv || isOption a.${n} then throw "The option `${n}' is declared more than once."
          else mergeDecls a.${n} bv)
        b;

    evalModules = { modules, specialArgs ? { }, prefix ? [ ] }:
      let
        args = specialArgs // { inherit lib config options; };
        load = m:
          let
            fn = if isPath m || isString m then import m else m;
            value =
              if isFunction fn then
                let formals = builtins.functionArgs fn; in
                fn (if formals == { } then args else builtins.intersectAttrs formals args)
              else fn;
            structured = value ? options || value ? config;
          in
          {
            imports = value.imports or [ ];
            options = value.options or { };
            config =
              if structured then value.config or { }
              else removeAttrs value [ "imports" "_file" "key" "meta" "disabledModules" ];
          };
        collect = ms: concatMap (m: let loaded = load m; in [ loaded ] ++ collect loaded.imports) ms;
        collected = collect modules;
        options = foldl' mergeDecls { } (map (m: m.options) collected);
        config = evalNamespace prefix options (map (m: m.config) collected);
      in
      { inherit config options; };
  };
in
lib
