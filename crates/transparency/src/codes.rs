//! The code lists the API checks against: EEA countries (`territorial_scope`) and ISO 639-1
//! languages (`content_language`).

/// The 30 countries of the European Economic Area as ISO 3166-1 alpha-2 codes (the 27 EU member
/// states plus IS, LI and NO), in the form `territorial_scope` takes them. Greece is `GR`.
pub const EEA_COUNTRIES: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS",
    "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Whether `code` is one of [`EEA_COUNTRIES`], compared exactly (upper case, as the API does).
pub fn is_eea_country(code: &str) -> bool {
    EEA_COUNTRIES.binary_search(&code).is_ok()
}

/// The ISO 639-1 codes the API accepts for `content_language`, upper case and sorted: the keys of
/// its `EuropeanLanguagesService::ALL_LANGUAGES`.
pub const ISO_639_1_LANGUAGES: [&str; 184] = [
    "AA", "AB", "AE", "AF", "AK", "AM", "AN", "AR", "AS", "AV", "AY", "AZ", "BA", "BE", "BG", "BH",
    "BI", "BM", "BN", "BO", "BR", "BS", "CA", "CE", "CH", "CO", "CR", "CS", "CU", "CV", "CY", "DA",
    "DE", "DV", "DZ", "EE", "EL", "EN", "EO", "ES", "ET", "EU", "FA", "FF", "FI", "FJ", "FO", "FR",
    "FY", "GA", "GD", "GL", "GN", "GU", "GV", "HA", "HE", "HI", "HO", "HR", "HT", "HU", "HY", "HZ",
    "IA", "ID", "IE", "IG", "II", "IK", "IO", "IS", "IT", "IU", "JA", "JV", "KA", "KG", "KI", "KJ",
    "KK", "KL", "KM", "KN", "KO", "KR", "KS", "KU", "KV", "KW", "KY", "LA", "LB", "LG", "LI", "LN",
    "LO", "LT", "LU", "LV", "MG", "MH", "MI", "MK", "ML", "MN", "MR", "MS", "MT", "MY", "NA", "NB",
    "ND", "NE", "NG", "NL", "NN", "NO", "NR", "NV", "NY", "OC", "OJ", "OM", "OR", "OS", "PA", "PI",
    "PL", "PS", "PT", "QU", "RM", "RN", "RO", "RU", "RW", "SA", "SC", "SD", "SE", "SG", "SI", "SK",
    "SL", "SM", "SN", "SO", "SQ", "SR", "SS", "ST", "SU", "SV", "SW", "TA", "TE", "TG", "TH", "TI",
    "TK", "TL", "TN", "TO", "TR", "TS", "TT", "TW", "TY", "UG", "UK", "UR", "UZ", "VE", "VI", "VO",
    "WA", "WO", "XH", "YI", "YO", "ZA", "ZH", "ZU",
];

/// Whether `code` is one of [`ISO_639_1_LANGUAGES`], compared exactly (so `en` is not).
pub fn is_language_code(code: &str) -> bool {
    ISO_639_1_LANGUAGES.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_unique_so_binary_search_holds() {
        assert!(EEA_COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_639_1_LANGUAGES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn eea_is_the_eu_plus_iceland_liechtenstein_norway() {
        for code in EEA_COUNTRIES {
            assert!(is_eea_country(code));
        }
        for code in ["IS", "LI", "NO", "GR"] {
            assert!(is_eea_country(code), "{code}");
        }
        for code in ["EL", "UK", "GB", "CH", "US", "de", "", "DEU"] {
            assert!(!is_eea_country(code), "{code}");
        }
    }

    #[test]
    fn languages_are_upper_case_iso_639_1() {
        for code in ["EN", "DE", "GA", "MT", "VI", "ZH"] {
            assert!(is_language_code(code), "{code}");
        }
        for code in ["en", "XX", "ENG", "E", ""] {
            assert!(!is_language_code(code), "{code}");
        }
    }
}
